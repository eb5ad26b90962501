this is a text file, not a PNG
