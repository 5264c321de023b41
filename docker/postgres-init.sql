-- Metabase keeps its application data in its own database next to embedgate's.
CREATE DATABASE metabase;
