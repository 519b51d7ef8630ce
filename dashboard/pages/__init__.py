"""One page per file: layout and the callbacks that belong to it."""
