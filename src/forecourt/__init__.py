"""Forecourt: membership, loyalty and marketing for a fuel-station chain (加油站会员营销系统)."""

__version__ = "0.1.0"
