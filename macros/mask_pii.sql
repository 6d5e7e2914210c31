{#-
    Mask a personal value with a salted SHA-256 hash.

    Contract (changing it changes every masked value, so don't):
    lowercase hex SHA-256 of the UTF-8 bytes of salt || value, where value is
    the column cast to text. Null in gives null out (string concatenation
    with null is null on both adapters). The same input and salt give the
    same 64-character result on DuckDB and PostgreSQL; golden values are in
    tests/data_tests/macros/assert_mask_pii_golden_values.sql.

    The salt defaults to env var PII_SALT, falling back to the documented
    demo value 'demo-salt-not-secret'. It is rendered into compiled SQL and
    view definitions; see the pii_masking doc block.
-#}
{% macro mask_pii(column_name, salt=none) -%}
    {%- set salt_value = salt if salt is not none
        else env_var('PII_SALT', 'demo-salt-not-secret') -%}
    {%- set salt_literal = "'" ~ (salt_value | replace("'", "''")) ~ "'" -%}
    {%- set text_type = dbt.type_string() | lower -%}
    {{ sha256_hex(salt_literal ~ ' || cast(' ~ column_name ~ ' as '
        ~ text_type ~ ')') }}
{%- endmacro %}
