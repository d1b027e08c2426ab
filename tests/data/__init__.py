"""Small input builders for the reader and validation tests (files are made in tmp_path)."""
