"""storage module: content-addressed object records, retention payments, availability challenges."""
