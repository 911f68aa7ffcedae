# bench/: build lines for this folder.
