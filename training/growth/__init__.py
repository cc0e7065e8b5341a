"""Model growth: LlamaPro depth expansion, Masked Structural Growth (MSG) width expansion, and the shape arithmetic."""
