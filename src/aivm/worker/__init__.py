"""The compute provider node (``aivm provider init|start|status``): follows the chain, serves
the jobs matched to its provider account with onnxruntime, and submits the results. See
``README.md`` in this folder for what it does each block and the job input/output
conventions."""
