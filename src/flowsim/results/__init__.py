"""Results: what an ensemble produced, as labelled arrays and as files.

* :mod:`flowsim.results.dataset`: :class:`Results` (an ``xarray.Dataset`` of counts with
  dims ``(replicate, time, country, cohort)``, the scenario, summaries and queries);
* :mod:`flowsim.results.streamed`: :class:`StreamedResults`, a streamed run's file read back;
* :mod:`flowsim.results.netcdf`: the NetCDF encoding of results (the scenario embedded);
* :mod:`flowsim.results.opening`: :func:`open_results`, either kind of file read back;
* :mod:`flowsim.results.files`: writing files all or nothing (one helper for every writer).
"""

from flowsim.results.dataset import VARIABLES, Results, summary_table
from flowsim.results.netcdf import save_results
from flowsim.results.opening import open_results
from flowsim.results.streamed import StreamedResults

__all__ = ["VARIABLES", "Results", "StreamedResults", "open_results", "save_results",
           "summary_table"]
