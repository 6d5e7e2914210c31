{#-
    Surrogate key of every dimension's unknown member (32 zeros, the shape
    of a surrogate_key value). Facts use it when no dimension version
    matches, so a fact row never has a null foreign key and never drops out
    of an inner join.
-#}
{% macro unknown_member_sk() %}
    '00000000000000000000000000000000'
{%- endmacro %}
