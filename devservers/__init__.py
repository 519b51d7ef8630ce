"""Throwaway local servers for the tests and the benchmarks (PostgreSQL, HTTP); never used by the product."""
