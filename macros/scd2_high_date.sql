{#-
    The end of a current SCD2 version: a timestamp literal built from var
    `scd2_high_date`, the same var dbt_project.yml gives snapshots as
    `dbt_valid_to_current`, so tests and marts agree with the snapshots.
-#}
{% macro scd2_high_date() %}
    cast('{{ var("scd2_high_date") }}' as timestamp)
{%- endmacro %}
