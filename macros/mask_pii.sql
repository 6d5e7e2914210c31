{#-
    Mask a personal value with a salted SHA-256 hash.

    Contract (changing it changes every masked value, so don't):
    lowercase hex SHA-256 of the UTF-8 bytes of salt || value, where value is
    the column cast to text. Null in gives null out (string concatenation
    with null is null on both adapters). The same input and salt give the
    same 64-character result on DuckDB and PostgreSQL; golden values are in
    tests/data_tests/macros/assert_mask_pii_golden_values.sql.

    The salt is read at query time from the one-row table
    restricted.pii_salt, which orchestration/pii_salt.py writes from env var
    PII_SALT before every build: the salt itself never appears in compiled
    SQL, view definitions, dbt's artifacts or logs (dbt never reads it).
    `salt` (a literal) is for tests with a known salt only.
-#}
{% macro mask_pii(column_name, salt=none) -%}
    {%- if salt is not none -%}
        {%- set salt_sql = "'" ~ (salt | replace("'", "''")) ~ "'" -%}
    {%- else -%}
        {%- set salt_sql = "(select salt from restricted.pii_salt)" -%}
    {%- endif -%}
    {%- set text_type = dbt.type_string() | lower -%}
    {{ sha256_hex(salt_sql ~ ' || cast(' ~ column_name ~ ' as '
        ~ text_type ~ ')') }}
{%- endmacro %}
