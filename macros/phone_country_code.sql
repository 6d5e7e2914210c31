{#-
    The country code of a phone number: the digits before its first `-`
    (TPC-H numbers read `CC-LLL-LLL-LLLL`, the country code being the nation
    key plus 10). Not personal on its own: thousands of people share it, so
    it survives masking as a derived attribute. Computed in staging from the
    raw value, before the number is hashed. Null when the number is null or
    has anything but digits before its first `-`. Plain SQL valid on
    DuckDB, PostgreSQL and Spark.
-#}
{% macro phone_country_code(column_name) -%}
    case
        when
            split_part({{ column_name }}, '-', 1) <> ''
            and translate(split_part({{ column_name }}, '-', 1), '0123456789', '') = ''
            then split_part({{ column_name }}, '-', 1)
    end
{%- endmacro %}
