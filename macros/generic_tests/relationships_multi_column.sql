{#-
    Composite-key version of `relationships`: every row whose `columns` are
    all non-null must match a row of `to` on `fields` (same order). Fails
    once per orphan row.
-#}
{% test relationships_multi_column(model, columns, to, fields) %}

{%- if columns | length != fields | length -%}
    {{ exceptions.raise_compiler_error(
        "relationships_multi_column: columns and fields differ in length"
    ) }}
{%- endif %}

with child as (

    select * from {{ model }}

),

parent as (

    select * from {{ to }}

),

orphans as (

    select
        {%- for column in columns %}
        child.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from child
    left join parent
        on
        {%- for column in columns %}
        {{ "and " if not loop.first }}child.{{ column }}
        = parent.{{ fields[loop.index0] }}
        {%- endfor %}
    where
        {%- for column in columns %}
        child.{{ column }} is not null and
        {%- endfor %}
        parent.{{ fields[0] }} is null

)

select * from orphans

{% endtest %}
