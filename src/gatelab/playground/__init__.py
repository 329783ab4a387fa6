"""The gate playground: one self-contained HTML page (no network, no server) where a learner moves the weights of a
small GRU and watches z, r, ĥ and h — the seed question answered by hand.

The page's arithmetic (``static/playground.js``) mirrors gatelab's cell in float64; the tests compare it with
``gatelab.GRU`` for every variant switch and both reset placements. Plots are plain SVG drawn by the page itself:
no charting library to vendor or keep up to date, and every number a test reads is the number drawn.
"""

from .page import SWITCHES, build_playground

__all__ = ["SWITCHES", "build_playground"]
