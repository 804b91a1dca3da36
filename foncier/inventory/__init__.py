"""The shared inventory of business parks and plots: reading, editing, history, constraint zones,
cadastre, geometry input, map features, staged web imports, exports, and the CNIG files (cnig).
Knows nothing of company projects."""
