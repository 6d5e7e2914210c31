{#-
    Fails for every combination of the given columns that occurs more than
    once: the composite-key version of `unique`. Pair it with `not_null` on
    each column (a null in a key column is not caught here).
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with validation as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from {{ model }}
    group by
        {{ combination_of_columns | join(',\n        ') }}
    having count(*) > 1

)

select * from validation

{% endtest %}
