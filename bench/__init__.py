"""The benchmark harness of issue 6: a data generator, the floor (a plain Django view that
returns the same JSON as the product), and one command that loads both servers and prints
the table. See bench/README.md."""
