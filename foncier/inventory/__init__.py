"""The shared inventory of business parks and plots: reading (queries), editing (editing, with
parks, plots, plot_status, owners), history, constraint zones, cadastre, geometry input, map
features, staged web imports, exports, and the CNIG files (cnig). Knows nothing of company
projects: a case changes a plot through the operations here.
"""
