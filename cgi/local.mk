# cgi/: build lines for this folder.
