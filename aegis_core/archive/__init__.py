"""The archive: file layout, the column contract, atomic parquet files and Delta tables."""
