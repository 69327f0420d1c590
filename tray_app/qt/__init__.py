"""The Qt layer with no widgets: the keeper, its worker, wake-up sources, the local sockets."""
