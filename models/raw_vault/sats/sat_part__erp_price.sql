-- A part's retail price in the ERP, apart from its other attributes
-- because it changes more often.
with parts as (

    select * from {{ ref('stg_erp__parts') }}

),

parts_keyed as (

    select
        {{ vault_hash(['part_id']) }} as part_hk,
        retail_price,
        loaded_at as load_at,
        'erp.part' as record_source
    from parts

),

{{ vault_sat(
    'parts_keyed',
    'part_hk',
    'part_hashdiff',
    [
        'retail_price',
    ],
) }}

select * from final
