"""The figures, one module per stage of the workflow (as ``workflow/rules/``), pure matplotlib (Agg):

- ``style``: what every figure shares (method labels and colours, map panels, notes, saving);
- ``dataset``: Figure 10; ``alignment``: Figures 3, 7, 14 and the multi-dataset panels;
  ``attribution``: Figures 2, 4, 11, 13; ``curves``: Figures 6 and 15; ``roar``: Figure 5;
  ``sanity``: the sanity checks; ``tangent_sources``: tangent sources compared; ``robustness``: on/off-
  manifold robustness; ``theorem1``: Figure 8.

Each rule's script imports the one module of its stage; nothing is re-exported here.
"""
