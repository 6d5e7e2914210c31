-- A part's slowly changing descriptive attributes in the ERP (the price,
-- which changes more often, is in sat_part__erp_price).
with parts as (

    select * from {{ ref('stg_erp__parts') }}

),

parts_keyed as (

    select
        {{ vault_hash(['part_id']) }} as part_hk,
        part_name,
        manufacturer_name,
        brand_name,
        part_type,
        part_size,
        container_type,
        part_comment,
        loaded_at as load_at,
        'erp.part' as record_source
    from parts

),

{{ vault_sat(
    'parts_keyed',
    'part_hk',
    'part_hashdiff',
    [
        'part_name',
        'manufacturer_name',
        'brand_name',
        'part_type',
        'part_size',
        'container_type',
        'part_comment',
    ],
) }}

select * from final
