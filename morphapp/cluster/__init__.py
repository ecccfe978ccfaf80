"""Distributed renders on Ray (the optional ``cluster`` extra): ``ray_runner.ClusterRender``.

Its parts, one job each: ``options`` (what is asked for), ``connect`` (reaching Ray), ``pool``
(the actors), ``shared_state`` (what every frame shares), ``pacing`` (even pacing's first pass).
"""
