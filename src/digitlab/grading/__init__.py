"""Grading a class: run each submission isolated, capture its answers, judge them outside.

Modules: ``restore`` (the source chapter's cells around the student's answers), ``isolation`` (a
fresh workspace and an allow-listed environment), ``runner`` (a kernel with time limits),
``capture`` (answers as data), ``sandbox`` (calling a student's function in a subprocess), ``judge``
(hidden tests), ``marks`` (points, roster, manual column, gradebook), ``report`` (CSV and Markdown)
and ``classroom`` (the whole class). ``digitlab.grade`` keeps the feedback mode.
"""
