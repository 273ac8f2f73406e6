"""Broadcast abstractions of netweave: best-effort, reliable, uniform reliable, FIFO."""
