"""Reports: the directories a run, a calibration or a comparison writes, all or nothing.

* :mod:`flowsim.reports.run`: ``results.nc``, ``summary.csv``, ``scenario.yaml``,
  ``run.json`` and the run's figures (:func:`write_outputs`, :func:`write_figures`);
* :mod:`flowsim.reports.calibration`: ``report.md``, the tables and the calibration's figures;
* :mod:`flowsim.reports.comparison`: the effects table, ``comparison.nc`` and figures.
"""
