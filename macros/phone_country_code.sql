{#-
    The country code of a phone number: the digits before its first `-`
    (TPC-H numbers read `CC-LLL-LLL-LLLL`, the country code being the nation
    key plus 10). Not personal on its own: thousands of people share it, so
    it survives masking as a derived attribute. Computed in staging from the
    raw value, before the number is hashed. Null when the number is null or
    has no digits before a `-`. Plain SQL valid on DuckDB and PostgreSQL.
-#}
{% macro phone_country_code(column_name) -%}
    case
        when split_part({{ column_name }}, '-', 1) similar to '[0-9]+'
            then split_part({{ column_name }}, '-', 1)
    end
{%- endmacro %}
