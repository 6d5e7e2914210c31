-- Suppliers, keyed by the ERP supplier key, from suppliers, offers and
-- order lines.
with suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

part_suppliers as (

    select * from {{ ref('stg_erp__part_suppliers') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

suppliers_keyed as (

    select
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        supplier_id,
        loaded_at as load_at,
        'erp.supplier' as record_source
    from suppliers

),

part_suppliers_keyed as (

    select
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        supplier_id,
        loaded_at as load_at,
        'erp.partsupp' as record_source
    from part_suppliers

),

order_lines_keyed as (

    select
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        supplier_id,
        loaded_at as load_at,
        'erp.lineitem' as record_source
    from order_lines

),

{{ vault_hub(
    ['suppliers_keyed', 'part_suppliers_keyed', 'order_lines_keyed'],
    'supplier_hk',
    ['supplier_id'],
) }}

select * from final
