"""Content Credentials: signed C2PA manifests that say how each image was made and from what."""
