"""The REST API: the native shape (/v1) and one router per seed's API shape."""
