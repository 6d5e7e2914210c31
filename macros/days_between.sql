{#-
    A select of one row per day, as date column `alias`, from the date
    expression start_at to end_at inclusive; the bounds may be columns of
    `relation` (one row per row of it, as in a lateral join) or literals
    with relation none. generate_series on DuckDB and PostgreSQL; Spark has
    no table functions with outer references, so it explodes a sequence.
-#}
{% macro days_between(start_at, end_at, alias, relation=none) -%}
    {{ return(adapter.dispatch('days_between', 'tpch_warehouse')(
        start_at, end_at, alias, relation
    )) }}
{%- endmacro %}

{% macro default__days_between(start_at, end_at, alias, relation) -%}
    select cast(spine.day_at as date) as {{ alias }}
    from
        {%- if relation is not none %} {{ relation }} cross join{% endif %}
        generate_series(
            cast({{ start_at }} as timestamp),
            cast({{ end_at }} as timestamp),
            interval '1 day'
        ) as spine (day_at)
{%- endmacro %}

{% macro spark__days_between(start_at, end_at, alias, relation) -%}
    select explode(sequence(
        cast({{ start_at }} as date),
        cast({{ end_at }} as date),
        interval 1 day
    )) as {{ alias }}
    {%- if relation is not none %}
    from {{ relation }}
    {%- endif %}
{%- endmacro %}
