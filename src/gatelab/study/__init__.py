"""Studies: variants × tasks × seeds, run by a driver over a pluggable executor (local processes or Ray), and
the forecast ladder's rolling-origin evaluation."""
