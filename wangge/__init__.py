"""Wangge (网格): grid-based community governance."""
