// Import each file given on the command line with the IPFS defaults that `ipfs add
// --cid-version=1` uses (256 KiB chunks, raw leaves, balanced DAG, 174 links per node) and
// print one JSON line per file: {"cid": root CID, "blocks": [sha256 hex of each block, sorted]}
// (the store keys blocks by multihash, so a block is named by its sha256).
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { createHash } from 'crypto'
import { readFileSync } from 'fs'

for (const path of process.argv.slice(2)) {
  const store = new MemoryBlockstore()
  let root
  for await (const entry of importer([{ content: readFileSync(path) }], store, { cidVersion: 1, rawLeaves: true })) {
    root = entry.cid.toString()
  }
  const blocks = []
  for await (const { bytes } of store.getAll()) {
    const hash = createHash('sha256')
    for await (const piece of bytes) hash.update(piece)
    blocks.push(hash.digest('hex'))
  }
  console.log(JSON.stringify({ cid: root, blocks: blocks.sort() }))
}
