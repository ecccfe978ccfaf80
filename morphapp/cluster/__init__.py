"""Distributed renders on Ray (the optional ``cluster`` extra): ``ray_runner.ClusterRender``."""
