"""The synthetic demo data: raw files in the data contract's formats (``generator``; ``hbeval demo-data``) and the
example Finnish texts of the demo book (``text``). Writes raw files for intake; reads the contract's specs from
:mod:`hbeval_lib.intake.instruments`."""
