# httpd/: build lines for this folder.
