{#-
    Lowercase hex SHA-256 of a text expression's UTF-8 bytes.
    The only part of PII masking whose SQL differs between adapters.
-#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'tpch_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    {{ exceptions.raise_compiler_error(
        "sha256_hex is not implemented for adapter " ~ adapter.type()
    ) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro postgres__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    sha2(cast({{ expression }} as string), 256)
{%- endmacro %}
