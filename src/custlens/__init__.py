"""custlens — e-commerce customer data analysis (电商客户数据分析系统)."""

from custlens.workspace import Workspace

__all__ = ["Workspace"]
__version__ = "0.1.0"
