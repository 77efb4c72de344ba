"""Tangent spaces: dense bases from decoder Jacobians (``bases``), the one interface however they
are computed (``space``), the matrix-free path (``matrix_free``), local PCA and principal angles
(``geometry``), and tangent sources besides the own decoder (``sources``)."""
