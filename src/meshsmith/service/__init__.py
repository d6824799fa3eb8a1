"""The HTTP service: settings, store, queue, workers and the API."""
