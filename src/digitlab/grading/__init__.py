"""Grading a class: run each submission jailed, capture its answers, judge them outside.

Modules: ``inputs`` (every input read once and hashed, confined submissions, the journal),
``restore`` (the source chapter's cells around the student's answers), ``isolation`` (a fresh
workspace and an allow-listed environment), ``jail`` (uid 65534 in its own namespaces, util-linux),
``confine`` (a notebook run inside the jail), ``runner`` (a kernel with time limits and output caps),
``capture`` (answers as data), ``sandbox`` (calling a student's function in a subprocess), ``judge``
(hidden tests), ``marks`` (points, roster, manual column, gradebook), ``report`` (CSV and Markdown),
``results`` (rows, totals and the files written) and ``classroom`` (the whole class).
``digitlab.grade`` keeps the feedback mode.
"""
