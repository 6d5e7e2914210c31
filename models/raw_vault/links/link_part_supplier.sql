-- A supplier's offer of a part (TPC-H partsupp).
with part_suppliers as (

    select * from {{ ref('stg_erp__part_suppliers') }}

),

part_suppliers_keyed as (

    select
        {{ vault_hash(['part_id', 'supplier_id']) }} as part_supplier_hk,
        {{ vault_hash(['part_id']) }} as part_hk,
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        loaded_at as load_at,
        'erp.partsupp' as record_source
    from part_suppliers

),

{{ vault_link(
    ['part_suppliers_keyed'],
    'part_supplier_hk',
    ['part_hk', 'supplier_hk'],
) }}

select * from final
