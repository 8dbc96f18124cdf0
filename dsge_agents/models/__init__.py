"""Bundled model files (package data): ``nk3.yaml``, ``rbc.yaml``, ``orchestrated_default.yaml``,
``sw2007.mod``.  Resolved by name through :func:`dsge_agents.api.load_model`."""

#: Where to get the data of a bundled model whose data are not shipped (licence), by file stem.
#: Used in the one-line error when the model's ``datafile`` is missing and no data were given.
DATA_SOURCES = {
    "sw2007": ("the Smets-Wouters (2007) US data are not bundled: get usmodel_data from the authors' "
               "replication files of AER 97(3) 586-606 (doi:10.1257/aer.97.3.586), save the series "
               "dy dc dinve labobs pinfobs dw robs (230 quarters 1947Q3-2004Q4) as usmodel_data.csv in the "
               "working directory, or pass --data path/to/usmodel_data.csv (Python: data=...)"),
}
