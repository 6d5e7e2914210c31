-- A nation's attributes in the ERP, with its region's key (regions are
-- reference data with no hub of their own).
with nations as (

    select * from {{ ref('stg_erp__nations') }}

),

nations_keyed as (

    select
        {{ vault_hash(['nation_id']) }} as nation_hk,
        nation_name,
        region_id,
        nation_comment,
        loaded_at as load_at,
        'erp.nation' as record_source
    from nations

),

{{ vault_sat(
    'nations_keyed',
    'nation_hk',
    'nation_hashdiff',
    [
        'nation_name',
        'region_id',
        'nation_comment',
    ],
) }}

select * from final
