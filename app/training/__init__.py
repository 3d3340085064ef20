"""Training the project's own models (`privacy-assistant train`), on CPU, offline."""
