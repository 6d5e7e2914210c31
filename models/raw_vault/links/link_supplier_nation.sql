-- The nation a supplier belongs to.
with suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

suppliers_keyed as (

    select
        {{ vault_hash(['supplier_id', 'nation_id']) }} as supplier_nation_hk,
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        {{ vault_hash(['nation_id']) }} as nation_hk,
        loaded_at as load_at,
        'erp.supplier' as record_source
    from suppliers

),

{{ vault_link(
    ['suppliers_keyed'],
    'supplier_nation_hk',
    ['supplier_hk', 'nation_hk'],
) }}

select * from final
